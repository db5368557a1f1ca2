"""FHIR R4 for the prior-authorization standards (HL7 Da Vinci CRD, DTR, PAS).

Every resource in and out goes through the ``fhir.resources`` R4B models (which parse R4):
``resources`` reads a payload into a model or raises a ``FhirError`` naming each defect by
its FHIR path, and writes the OperationOutcome that answers a defective payload; ``facts``
reads FHIR resources into the facts of a request and finds the policy for a drug; ``pas``
answers a PAS request Bundle with a PAS response Bundle (``kb evaluate BUNDLE.json``).
"""
