def test_account_manager_sees_own_customer_only(world, login_as):
    c = login_as(world.am1)
    body = c.get("/admin/client/").get_data(as_text=True)
    assert world.c1.name in body
    assert world.c2.name not in body
    assert c.get(f"/admin/client/details/?id={world.c2.id}").status_code == 404
