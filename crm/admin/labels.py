"""Labels for fields a view shows without naming them in its `column_labels` (a details page
lists every column): without these Flask-Admin shows the attribute's name in English
("Created At", "Actor"). A view's own label always wins; ScopedModelView.get_column_name asks
here before Flask-Admin's prettified name."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

FIELD_LABELS = {
    "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
    "deleted_at": _l("Deleted at"),
    "restored_at": _l("Restored at"),
    "sent_at": _l("Sent at"),
    "claimed_at": lazy_pgettext("delivery", "Claimed at"),
    "actor": _l("Done by"),
    "recipient": _l("Recipient"),
    "kind": _l("Kind"),
    "link": lazy_pgettext("notice", "Leads to"),
    "link_endpoint": lazy_pgettext("notice", "Screen it leads to"),
    "link_id": lazy_pgettext("notice", "Record it leads to"),
    "event_key": _l("Event key"),
    "body": lazy_pgettext("mail", "Body"),
    "content": _l("Content"),
    "key": lazy_pgettext("archive flag", "Key"),
    "override_by": _l("Limit override approved by"),
    "benefits_version": _l("Benefits version"),
}
