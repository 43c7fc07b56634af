def test_home_page_shows_headline(client, make_idea):
    make_idea()
    page = client.get("/").get_data(as_text=True)
    assert "0 ideas implemented out of 1 submitted" in page
