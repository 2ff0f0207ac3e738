"""Imports every model so that the mappers and Alembic see all tables."""

from crm.archives.models import (  # noqa: F401
    ArchiveDocument,
    ArchiveFlag,
    ArchiveVolume,
    CatalogueLine,
)
from crm.audit import AuditEvent  # noqa: F401
from crm.auth.models import LoginFailure, Region, User  # noqa: F401
from crm.cards.models import CardEvent, CardType, CardUse, MemberCard  # noqa: F401
from crm.clients.models import Client, ContactLog, KeyPerson  # noqa: F401
from crm.commissions import models as commission_models  # noqa: F401
from crm.complaints import models as complaint_models  # noqa: F401
from crm.contracts import models as contract_models  # noqa: F401
from crm.credit import models as credit_models  # noqa: F401
from crm.credit import onsite as credit_onsite  # noqa: F401
from crm.faults.models import FaultReport  # noqa: F401
from crm.governance.models import (  # noqa: F401
    ChangeRequest,
    Consent,
    DeletionRequest,
    DestructionRecord,
    TaskLock,
    TaskRun,
    ViewGrant,
)
from crm.intake.models import FirstContact, InvitationClaim  # noqa: F401
from crm.notifications.models import Notification, OutboxMail  # noqa: F401
from crm.records import models as record_models  # noqa: F401
from crm.reviews import models as review_models  # noqa: F401
from crm.revisits.models import Revisit  # noqa: F401
from crm.sequences import Counter  # noqa: F401
from crm.settings import Setting  # noqa: F401
from crm.surveys.models import SurveyCampaign, SurveyQuestion, SurveyResponse  # noqa: F401
