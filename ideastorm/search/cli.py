import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Full-text search index.")
