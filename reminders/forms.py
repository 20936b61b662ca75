from django import forms

from reminders.models import ReminderTemplate
from spectrum.validation import SafeTextFormMixin


class TemplateForm(SafeTextFormMixin, forms.Form):
    subject = forms.CharField(max_length=200, required=False, help_text="Email only.")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=2000)


class LinkAnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("confirm", "Confirm"), ("cancel", "Cancel")])


PURPOSES = ReminderTemplate.Purpose.values
