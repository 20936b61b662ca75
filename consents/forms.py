from django import forms

from consents.models import Consent
from spectrum.validation import SafeTextFormMixin


class ConsentForm(SafeTextFormMixin, forms.Form):
    kind = forms.ChoiceField(choices=Consent.Kind.choices)
    status = forms.ChoiceField(choices=Consent.Status.choices)
    party = forms.CharField(label="Released to", max_length=200, required=False)
    recorded_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(label="Expires", required=False, widget=forms.DateInput(attrs={"type": "date"}))
