"""Reading rules settled against the independent reader's sample (tests/predicate_sample.toml)."""

from __future__ import annotations

from kb.predicates import canonical, criterion_columns, read
from kb.predicates.phrases import dose, without_acronyms
from kb.predicates.reader import policy_products


def has(*drugs: str) -> dict:
    return {"fact": "concurrent_drugs", "op": "has", "value": list(drugs)}


def test_a_product_restriction_is_an_if_wherever_it_stands():
    only, _ = read("Acquired hemophilia A (Obizur only),", "Diagnosis of one of the following (a or b):")
    assert only == {
        "op": "if",
        "cond": {"fact": "requested_drug", "op": "in", "value": ["obizur"]},
        "then": {"fact": "diagnosis", "op": "in", "value": ["acquired-hemophilia-a"]},
    }
    except_, _ = read(
        "Perioperative management (all products except Obizur),",
        "Request is for one of the following uses (a, b, or c):",
    )
    assert except_["op"] == "if" and except_["cond"]["op"] == "not"


def test_a_serial_list_and_a_regimen_are_all_their_drugs():
    context = "Ineligible for ASCT and in combination with one of the following (a or b):"
    for text, drugs in (
        ("bortezomib*, melphalan, and prednisone,", ("bortezomib", "melphalan", "prednisone")),
        ("bortezomib*, cyclophosphamide, dexamethasone,", ("bortezomib", "cyclophosphamide", "dexamethasone")),
    ):
        found, _ = read(text, context)
        assert canonical(found) == canonical({"op": "all", "args": [has(d) for d in drugs]})
    either, _ = read("lenalidomide or bortezomib,", context)
    assert canonical(either) == canonical(has("lenalidomide", "bortezomib"))


def test_an_abbreviation_after_its_words_is_ignored():
    assert without_acronyms("immune tolerance induction (iti) regimen") == "immune tolerance induction regimen"
    assert (
        without_acronyms("congenital hemophilia a (fviii deficiency)") == "congenital hemophilia a (fviii deficiency)"
    )
    found, _ = read("The requested agent will be used as part of an immune tolerance induction (ITI) regimen,")
    assert found == {"fact": "requested_use", "op": "in", "value": ["iti"]}


def test_a_single_injection_every_two_months_is_a_dose():
    assert dose("a single 600 mg intramuscular injection given every 2 months") == {
        "fact": "dose",
        "op": "<=",
        "value": 600,
        "unit": "mg",
        "per": "2 months",
    }
    # two phases with no phase fact: not read (clinical review)
    assert dose("a 600 mg intramuscular injection given 1 month apart for 2 consecutive months") is None


def test_a_subject_naming_some_of_the_policys_products_restricts_the_item():
    products = policy_products(
        (("Daratumumab", ("Darzalex",)), ("Daratumumab/Hyaluronidase-fihj", ("Darzalex Faspro",)))
    )
    assert products == ("darzalex", "darzalex-faspro")
    some = criterion_columns(
        "CP.PHAR.310", "Darzalex Faspro is prescribed in combination with lenalidomide,", None, None, products
    )
    assert '"requested_drug", "op": "in", "value": ["darzalex-faspro"]' in some["predicate"]
    every = criterion_columns(
        "CP.PHAR.310",
        "Darzalex or Darzalex Faspro is prescribed in combination with lenalidomide,",
        None,
        None,
        products,
    )
    assert "requested_drug" not in every["predicate"]
    unknown = criterion_columns(
        "X", "Darzalex Faspro is prescribed in combination with lenalidomide,", None, None, None
    )
    assert "requested_drug" not in unknown["predicate"]
