"""Email goes out through Django's SMTP backend to the server EMAIL_HOST names."""

from django.core.mail import send_mail


def test_an_email_reaches_the_smtp_server_with_its_recipient_subject_and_body(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "Spectrum <no-reply@clinic.test>"

    send_mail("Your sign-in link", "Open the link to continue.", None, ["nell@clinic.test"])

    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [["nell@clinic.test"]]
    assert smtp_server.messages[0]["Subject"] == "Your sign-in link"
    assert smtp_server.messages[0]["From"] == "Spectrum <no-reply@clinic.test>"
    assert "Open the link to continue." in smtp_server.bodies()[0]
