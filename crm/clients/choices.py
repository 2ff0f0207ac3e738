"""The staff's own words for each classification (RULES R1, R2, R16). Values are stored."""

from flask_babel import lazy_gettext as _l

KIND = [("organisation", _l("Organisation")), ("individual", _l("Individual"))]
LEVEL = [("K", "K"), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]
STAGE = [("prospect", _l("Prospect")), ("active", _l("Active")), ("former", _l("Former"))]
NATURE = [
    ("government", _l("Government body")),
    ("special", _l("Special company")),
    ("ordinary", _l("Ordinary company")),
    ("individual", _l("Individual")),
    ("partner", _l("Trading partner")),
]
WEIGHT = [("key", _l("Key")), ("general", _l("General")), ("scattered", _l("Scattered"))]
COMPANY_TYPE = [
    ("state_owned", _l("State-owned")),
    ("foreign", _l("Foreign-owned")),
    ("joint_venture", _l("Joint venture")),
    ("private", _l("Private")),
    ("individual_business", _l("Individual business")),
]
MARKET = [("domestic", _l("Domestic")), ("export", _l("Export")), ("both", _l("Both"))]
TRADE_MODE = [("wholesale", _l("Wholesale")), ("retail", _l("Retail")), ("both", _l("Both"))]
GENDER = [("male", _l("Male")), ("female", _l("Female"))]
SATISFACTION = [
    ("very_satisfied", _l("Very satisfied")),
    ("satisfied", _l("Satisfied")),
    ("neutral", _l("Neutral")),
    ("dissatisfied", _l("Dissatisfied")),
]
KEY_PERSON_ROLE = [
    ("legal_rep", _l("Legal representative")),
    ("owner", _l("Owner")),
    ("general_manager", _l("General manager")),
    ("purchasing_head", _l("Purchasing head")),
    ("other", _l("Other")),
]
CONTACT_WAY = [
    ("visit", _l("Visit")),
    ("phone", _l("Phone")),
    ("mail", _l("Mail")),
    ("exhibition", _l("Exhibition")),
    ("came_to_us", _l("Customer came to us")),
    ("other", _l("Other")),
]
PERSON_ROLE = [
    ("decision_maker", _l("Decision maker")),
    ("influencer", _l("Influencer")),
    ("user", _l("User")),
    ("recommender", _l("Recommender")),
    ("controller", _l("Controller")),
    ("gatekeeper", _l("Gatekeeper")),
]


def label(choices, value) -> str:
    return str(dict(choices).get(value, value or ""))
