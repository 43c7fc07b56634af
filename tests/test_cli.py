from sqlalchemy import func, select, update

from ideastorm.accounts.models import User
from ideastorm.comments.models import Comment
from ideastorm.extensions import db
from ideastorm.ideas.models import Idea, StatusChange
from ideastorm.votes.models import Vote


def test_users_create_admin_from_stdin(runner):
    result = runner.invoke(args=["users", "create", "--email", "Root@Example.com", "--name", "Root",
                                 "--role", "admin", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.role) == ("root@example.com", "admin")
    from ideastorm.accounts.auth import verify_password

    assert verify_password(user.password_hash, "a long enough password")


def test_users_create_asks_twice_without_stdin(runner):
    result = runner.invoke(args=["users", "create", "--email", "a@example.com", "--name", "Ann"],
                           input="first password!\nsecond password\nfirst password!\nfirst password!\n")
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output


def test_users_create_bad_arguments_fail_with_one_line(runner, make_user):
    make_user(email="taken@example.com")
    cases = [
        (["--email", "TAKEN@example.com", "--name", "Dup", "--password-stdin"], "already exists", "long enough!"),
        (["--email", "not-an-email", "--name", "X Y", "--password-stdin"], "not a valid email", "long enough!"),
        (["--email", "b@example.com", "--name", "Bee", "--role", "god", "--password-stdin"], "Invalid value", ""),
        (["--email", "c@example.com", "--name", "Cee", "--password-stdin"], "at least 10", "short"),
    ]
    for args, message, password in cases:
        result = runner.invoke(args=["users", "create", *args], input=password + "\n")
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_demo_seed_is_realistic_deterministic_and_verifiable(runner):
    result = runner.invoke(args=["demo", "seed", "--ideas", "120", "--users", "30", "--votes", "900", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Added 31 users, 120 ideas, 900 votes" in result.output
    statuses = set(db.session.scalars(select(Idea.status)))
    assert {"new", "planned", "implemented"} <= statuses
    assert db.session.scalar(select(func.count()).select_from(StatusChange)) > 0
    assert db.session.scalar(select(func.count()).select_from(Comment)) > 0
    assert db.session.scalar(select(func.count()).select_from(User).where(User.password_hash.is_not(None))) == 0
    closed_votes = db.session.scalar(
        select(func.count()).select_from(Vote).join(Idea).where(Idea.status == "duplicate"))
    assert closed_votes == 0
    verify = runner.invoke(args=["votes", "verify"])
    assert verify.exit_code == 0 and "0 differences" in verify.output
    first = db.session.execute(select(Idea.title, Idea.status, Idea.score).order_by(Idea.id)).all()

    # Same seed, same data (a second run adds beside the first).
    runner.invoke(args=["demo", "seed", "--ideas", "120", "--users", "30", "--votes", "900", "--seed", "7"])
    second = db.session.execute(select(Idea.title, Idea.status, Idea.score).order_by(Idea.id).offset(120)).all()
    assert first == second
    assert runner.invoke(args=["votes", "verify"]).exit_code == 0


def test_demo_seed_if_empty_and_bad_arguments(runner, make_idea):
    make_idea()
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert result.exit_code == 0 and "already has ideas" in result.output
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 1
    bad = runner.invoke(args=["demo", "seed", "--ideas", "-5"])
    assert bad.exit_code == 2 and "Invalid value" in bad.output


def test_votes_verify_reports_and_fixes_differences(runner, make_idea, make_user):
    from tests.helpers import cast_vote

    idea = make_idea()
    cast_vote(make_user().id, idea.id, 1)
    db.session.execute(update(Idea).where(Idea.id == idea.id).values(promote_count=5, score=5))
    db.session.commit()
    result = runner.invoke(args=["votes", "verify"])
    assert result.exit_code == 1
    assert f"idea {idea.id}: promote_count is 5, the votes say 1" in result.output
    assert runner.invoke(args=["votes", "verify", "--fix"]).exit_code == 1
    assert runner.invoke(args=["votes", "verify"]).exit_code == 0


def test_outbox_records_changes_in_the_same_transaction(runner, make_idea, make_user):
    from ideastorm.outbox import OutboxEvent
    from tests.helpers import cast_vote

    idea = make_idea()
    cast_vote(make_user().id, idea.id, 1)
    topics = list(db.session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)))
    assert topics == ["idea.created", "idea.voted"]
    result = runner.invoke(args=["outbox", "drain"])
    # The index gets both events, the notifications fan-out the new idea.
    assert result.exit_code == 0 and "3 delivery(ies) made, 0 still pending, 0 dead." in result.output
