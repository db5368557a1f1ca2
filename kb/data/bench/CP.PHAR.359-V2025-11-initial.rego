# CP.PHAR.359 V2025-11, section I.A (initial approval), written by hand in Rego for the
# benchmark's peer figure: the same rules as kb's compiled V2025-11 initial criteria, on
# requests that carry every fact (Rego has no three-valued logic; the bench checks that
# all three engines agree on every request before it reports a figure).
package besponsa

default decision := "deny"

decision := "approve" if met

# another diagnosis: the policy's "Other diagnoses" set refers it to another policy
decision := "refer" if lower(input.diagnosis) != "b-cell all"

decision := "pend" if {
	not met
	pend_on_evidence
}

met if {
	lower(input.diagnosis) == "b-cell all"
	lower(input.prescriber_specialty) in {"oncologist", "hematologist"}
	input.age_years >= 1
	input.cd22_positive == true
	option_5
	input.cycles_requested + input.cycles_received <= 6
	option_7
	input.regimen_fda_or_nccn == true
}

option_5 if lower(input.disease_status) in {"relapsed", "refractory"}

option_5 if {
	"frontline" in input.line_of_therapy
	input.age_years >= 18
}

option_7 if {
	input.dose_mg_per_m2_per_cycle <= 1.8
	input.dose_mg_per_m2_per_dose <= 0.8
}

# 7.b: evidence submitted leaves the dose to clinical review (unknown), so a request that
# meets everything else, and whose only gap is the dose, pends.
pend_on_evidence if {
	input.supporting_evidence_submitted == true
	not option_7
	lower(input.diagnosis) == "b-cell all"
	lower(input.prescriber_specialty) in {"oncologist", "hematologist"}
	input.age_years >= 1
	input.cd22_positive == true
	option_5
	input.cycles_requested + input.cycles_received <= 6
	input.regimen_fda_or_nccn == true
}
