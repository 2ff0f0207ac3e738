"""R14: fault reports (time, place, symptom, plan, who), the fault analysis that follows, the
link to the customer's complaint; scoped like complaints."""

from datetime import datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm.audit import AuditEvent
from crm.complaints import services as complaints
from crm.complaints.models import Complaint
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.faults import services
from crm.faults.models import ANALYSED, FaultReport

WHEN = datetime(2026, 11, 20, 6, 30)  # UTC: 14:30 in Shanghai


def complaint_of(client) -> Complaint:
    complaint = complaints.record_complaint(
        db.session,
        Complaint(
            client_id=client.id,
            channel="phone",
            category="facility",
            description="会议室空调不制冷",
        ),
    )
    db.session.commit()
    return complaint


def report(client, complaint=None, **kw) -> FaultReport:
    values = {
        "client_id": client.id,
        "complaint_id": complaint.id if complaint else None,
        "occurred_at": WHEN,
        "place": "三楼多功能厅",
        "symptom": "空调不制冷，室温29度",
        "plan": "更换压缩机，期间调用移动空调",
        "handled_by": "工程部 刘师傅",
    }
    values.update(kw)
    fault = services.report_fault(db.session, FaultReport(**values))
    db.session.commit()
    return fault


def test_a_fault_report_links_the_customers_complaint_and_is_analysed(world, act):
    act(world.service)
    complaint = complaint_of(world.c1)
    fault = report(world.c1, complaint)
    assert fault.complaint_id == complaint.id and fault.reported_by_id == world.service.id
    with pytest.raises(DomainError):
        services.analyse_fault(db.session, fault, "", "")
    services.analyse_fault(db.session, fault, "压缩机老化", "设备超期使用未保养", "每季度保养一次")
    db.session.commit()
    assert fault.status == ANALYSED and fault.analysed_by_id == world.service.id
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity == "fault_reports", AuditEvent.entity_id == fault.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "update"]


def test_a_fault_report_has_time_place_symptom_plan_and_who(world, act):
    act(world.am1)
    with pytest.raises(DomainError) as bad:
        report(world.c1, place=" ", symptom="", plan=None, handled_by="")
    assert set(bad.value.field_errors) == {"place", "symptom", "plan", "handled_by"}
    with pytest.raises(DomainError) as future:
        report(world.c1, occurred_at=datetime(2099, 1, 1))
    assert set(future.value.field_errors) == {"occurred_at"}


def test_the_linked_complaint_must_be_the_same_customers(world, act):
    act(world.service)
    other = complaint_of(world.c2)
    with pytest.raises(DomainError) as bad:
        report(world.c1, other)
    assert set(bad.value.field_errors) == {"complaint"}
    assert report(world.c2, other).complaint_id == other.id  # without one is fine too
    assert report(world.c1).complaint_id is None


def test_an_account_manager_reports_for_her_own_customers_only(world, act):
    act(world.am1)
    with pytest.raises(NotAllowed):
        report(world.c2)


def test_an_account_manager_cannot_read_another_customers_fault_reports(world, act, login_as):
    act(world.service)
    complaint = complaint_of(world.c2)
    theirs = report(world.c2, complaint)
    mine = report(world.c1, symptom="电梯停运")
    act(None)
    c = login_as(world.am1)
    assert c.get(f"/admin/fault_report/details/?id={theirs.id}").status_code == 404
    assert c.get(f"/admin/fault_report/edit/?id={theirs.id}").status_code == 404
    listing = c.get("/admin/fault_report/").get_data(as_text=True)
    assert "电梯停运" in listing and "空调不制冷" not in listing
    assert c.get(f"/admin/fault_report/details/?id={mine.id}").status_code == 200
    page = (
        login_as(world.am2)
        .get(f"/admin/fault_report/details/?id={theirs.id}")
        .get_data(as_text=True)
    )
    assert f"/admin/complaint/details/?id={complaint.id}" in page  # the link to the complaint
    back = login_as(world.am2).get(f"/admin/complaint/details/?id={complaint.id}")
    linked = back.get_data(as_text=True)
    assert 'id="complaint-faults"' in linked  # and from the complaint to its fault report
    assert f"/admin/fault_report/details/?id={theirs.id}" in linked
    card = login_as(world.am2).get(f"/admin/client/details/?id={world.c2.id}")
    assert 'id="fault-reports"' in card.get_data(as_text=True)
    assert "空调不制冷" in card.get_data(as_text=True)


def test_the_screens_report_a_fault_in_local_time_and_record_its_analysis(world, login_as):
    c = login_as(world.am1)
    r = c.post(
        "/admin/fault_report/new/",
        data={
            "client": world.c1.id,
            "occurred_at": "2026-11-20 14:30:00",
            "place": "大堂",
            "symptom": "自动门无法关闭",
            "plan": "联系厂家维修",
            "handled_by": "工程部 王工",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    fault = db.session.scalars(select(FaultReport)).one()
    assert fault.occurred_at == WHEN and fault.reported_by_id == world.am1.id
    c.post(
        f"/admin/fault_report/edit/?id={fault.id}",
        data={
            "complaint": "",
            "occurred_at": "2026-11-20 14:30:00",
            "place": "大堂",
            "symptom": "自动门无法关闭",
            "plan": "联系厂家维修",
            "handled_by": "工程部 王工",
            "cause": "感应器损坏",
            "analysis": "雨天进水导致短路",
            "prevention": "加装防雨罩",
        },
    )
    db.session.expire_all()
    fault = db.session.get(FaultReport, fault.id)
    assert (fault.status, fault.cause, fault.occurred_at) == (ANALYSED, "感应器损坏", WHEN)


def test_the_service_screens_are_in_chinese(world, act, login_as):
    act(world.service)
    report(world.c1)
    act(None)
    c = login_as(world.service)
    with force_locale("zh_Hans_CN"):
        faults_page = c.get("/admin/fault_report/").get_data(as_text=True)
        surveys_page = c.get("/admin/survey_response/").get_data(as_text=True)
    for text in ("故障报告", "故障时间", "故障现象", "处理人"):
        assert text in faults_page
    assert "调查答复" in surveys_page
