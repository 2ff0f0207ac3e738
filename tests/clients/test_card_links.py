def test_add_from_card_prefills_only_an_in_scope_customer(world, login_as):
    c = login_as(world.am1)
    own = c.get(f"/admin/contactlog/new/?client={world.c1.id}").get_data(as_text=True)
    assert f'name="client" type="hidden" value="{world.c1.id}"' in own
    assert world.c1.code in own
    other = c.get(f"/admin/contactlog/new/?client={world.c2.id}").get_data(as_text=True)
    assert f'value="{world.c2.id}"' not in other and world.c2.code not in other


def test_card_shows_key_persons_contact_log_and_history(world, login_as):
    body = (
        login_as(world.am1).get(f"/admin/client/details/?id={world.c1.id}").get_data(as_text=True)
    )
    assert 'id="key-persons"' in body and "华东法人" in body
    assert 'id="contact-logs"' in body and "张总" in body
    assert 'id="history"' in body
