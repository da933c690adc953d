"""The default workflow's reply templates, in English and Spanish, and the variables each uses.

Settings (``brand`` and any other string setting) may be used by every template;
the variables listed here are what the default workflow's steps pass.
"""

from __future__ import annotations

from escalate.workflow._templates import Templates

__all__ = ["DEFAULT_TEMPLATES", "DEFAULT_TEXTS", "DEFAULT_VARIABLES"]

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "public.greeting": "Hi,",
        "public.ack": (
            "{greeting} we're sorry about this and want to help. To keep your details private, "
            "{invite} and we'll follow up there. Case {reference}"
        ),
        "public.ack_off_hours": (
            "{greeting} we're sorry about this and want to help. Our team is back {back}. "
            "To keep your details private, {invite} and we'll pick it up then. Case {reference}"
        ),
        "invite.link": "share a phone number or email at {link}",
        "invite.x_dm": "send us a DM ({link}) with the best phone number or email to reach you",
        "invite.dm": "send us a direct message with the best phone number or email to reach you",
        "invite.meta": "we've sent you a private message: reply there with a phone or email",
        "social.dm_prefill": "Case {reference}: you can reach me at ",
        "social.private_reply": (
            "Hi, this is {brand} about your comment (case {reference}). Reply here with the best "
            "phone number or email to reach you."
        ),
        "opt_in.sms": (
            "{brand}: Reply YES to get updates on case {reference} by text. "
            "Reply STOP to opt out. Msg & data rates may apply."
        ),
        "intro.sms": (
            "{brand}: hi, this is about your post (case {reference}). Reply here and we'll sort "
            "it out. Reply STOP to opt out."
        ),
        "intro.subject": "{brand}: your case {reference}",
        "intro.email": (
            "Hi,\n\nThanks for reaching out to {brand}. This is about your post "
            "(case {reference}). Reply to this email and we'll sort it out.\n\n{brand}"
        ),
        "reminder.sms": (
            "{brand}: just checking in on case {reference}. Reply here if you still need help. "
            "Reply STOP to opt out."
        ),
        "reminder.subject": "Re: {brand}: your case {reference}",
        "reminder.email": (
            "Hi,\n\nJust checking in on case {reference}. Reply to this email if you still "
            "need help.\n\n{brand}"
        ),
        "agent.sms": "{brand}: {text} (case {reference})",
        "agent.subject": "Re: {brand}: your case {reference}",
        "agent.email": "{text}\n\n{brand} (case {reference})",
        "notify.sla_at_risk": "Case {reference}: first-response SLA at risk (due {due}).",
        "notify.public_reply_failed": (
            "Case {reference}: the public reply could not be posted ({why}); the "
            "customer has no answer. Reply in the thread yourself."
        ),
        "notify.private_reply_failed": (
            "Case {reference}: the private reply could not be sent ({why}), though the "
            "public reply says one is on its way. Message the customer another way."
        ),
        "notify.abandoned": (
            "Case {reference}: no answer from the customer; the handoff was abandoned. "
            "Close the public thread."
        ),
        "notify.idle": (
            "Case {reference}: the conversation went quiet after the customer's last "
            "message; the handoff was abandoned. Close the public thread."
        ),
        "notify.undelivered": (
            "Case {reference}: an agent's message was not delivered ({why}). The handoff "
            "is closed, so it goes on no other channel: reach the customer another way."
        ),
        "notify.too_long_for_sms": (
            "Case {reference}: an agent's message did not go ({why}) and the case moved to "
            "text messages, where it is too long to follow: {length} characters with the "
            "signature, at most {limit}. It was not sent: text the customer a shorter one."
        ),
        "notify.failed": (
            "Case {reference}: no channel of the customer's can take our messages ({why}); "
            "the handoff is closed, and nothing still queued for it will be sent. "
            "Answer in the public thread."
        ),
    },
    "es": {
        "public.greeting": "Hola,",
        "public.ack": (
            "{greeting} sentimos lo ocurrido y queremos ayudarte. Para proteger tus datos, "
            "{invite} y seguimos por ahí. Caso {reference}"
        ),
        "public.ack_off_hours": (
            "{greeting} sentimos lo ocurrido y queremos ayudarte. Nuestro equipo vuelve el "
            "{back}. Para proteger tus datos, {invite} y lo retomamos entonces. Caso {reference}"
        ),
        "invite.link": "déjanos un teléfono o email en {link}",
        "invite.x_dm": "envíanos un DM ({link}) con el mejor teléfono o email para contactarte",
        "invite.dm": "envíanos un mensaje directo con el mejor teléfono o email para contactarte",
        "invite.meta": "te enviamos un mensaje privado: responde ahí con un teléfono o email",
        "social.dm_prefill": "Caso {reference}: podéis contactarme en ",
        "social.private_reply": (
            "Hola, somos {brand}, sobre tu comentario (caso {reference}). Responde aquí con el "
            "mejor teléfono o email para contactarte."
        ),
        "opt_in.sms": (
            "{brand}: Responde YES para recibir por SMS novedades del caso {reference}. "
            "Responde STOP para darte de baja. Pueden aplicarse tarifas de mensajes y datos."
        ),
        "intro.sms": (
            "{brand}: hola, te escribimos por tu mensaje (caso {reference}). Responde aquí y lo "
            "resolvemos. Responde STOP para darte de baja."
        ),
        "intro.subject": "{brand}: tu caso {reference}",
        "intro.email": (
            "Hola:\n\nGracias por escribir a {brand}. Te contactamos por tu mensaje "
            "(caso {reference}). Responde a este email y lo resolvemos.\n\n{brand}"
        ),
        "reminder.sms": (
            "{brand}: ¿sigues necesitando ayuda con el caso {reference}? Responde aquí. "
            "Responde STOP para darte de baja."
        ),
        "reminder.subject": "Re: {brand}: tu caso {reference}",
        "reminder.email": (
            "Hola:\n\n¿Sigues necesitando ayuda con el caso {reference}? Responde a este "
            "email.\n\n{brand}"
        ),
        "agent.sms": "{brand}: {text} (caso {reference})",
        "agent.subject": "Re: {brand}: tu caso {reference}",
        "agent.email": "{text}\n\n{brand} (caso {reference})",
        "notify.sla_at_risk": "Caso {reference}: SLA de primera respuesta en riesgo ({due}).",
        "notify.public_reply_failed": (
            "Caso {reference}: no se pudo publicar la respuesta pública ({why}); el "
            "cliente no tiene respuesta. Responde tú en el hilo."
        ),
        "notify.private_reply_failed": (
            "Caso {reference}: no se pudo enviar la respuesta privada ({why}), aunque la "
            "respuesta pública la anuncia. Escribe al cliente de otra forma."
        ),
        "notify.abandoned": (
            "Caso {reference}: el cliente no respondió; el traspaso se abandonó. "
            "Cierra el hilo público."
        ),
        "notify.idle": (
            "Caso {reference}: la conversación quedó en silencio tras el último mensaje "
            "del cliente; el traspaso se abandonó. Cierra el hilo público."
        ),
        "notify.undelivered": (
            "Caso {reference}: un mensaje del agente no se entregó ({why}). El traspaso "
            "está cerrado, así que no va por otro canal: contacta al cliente de otra forma."
        ),
        "notify.too_long_for_sms": (
            "Caso {reference}: un mensaje del agente no se entregó ({why}) y el caso pasó a "
            "SMS, donde no cabe: {length} caracteres con la firma, como máximo {limit}. "
            "No se envió: escribe al cliente un SMS más corto."
        ),
        "notify.failed": (
            "Caso {reference}: ningún canal del cliente recibe nuestros mensajes ({why}); "
            "el traspaso está cerrado y no se enviará nada de lo pendiente. "
            "Responde en el hilo público."
        ),
    },
}

_REF = {"reference"}

DEFAULT_VARIABLES: dict[str, set[str]] = {
    "public.greeting": set(),
    "public.ack": {"greeting", "invite", "reference"},
    "public.ack_off_hours": {"greeting", "invite", "reference", "back"},
    "invite.link": {"link", "reference"},
    "invite.x_dm": {"link", "reference"},
    "invite.dm": _REF,
    "invite.meta": _REF,
    "social.dm_prefill": _REF,
    "social.private_reply": _REF,
    "opt_in.sms": _REF,
    "intro.sms": _REF,
    "intro.subject": _REF,
    "intro.email": _REF,
    "reminder.sms": _REF,
    "reminder.subject": _REF,
    "reminder.email": _REF,
    "agent.sms": {"reference", "text"},
    "agent.subject": _REF,
    "agent.email": {"reference", "text"},
    "notify.sla_at_risk": {"reference", "due"},
    "notify.public_reply_failed": {"reference", "why"},
    "notify.private_reply_failed": {"reference", "why"},
    "notify.abandoned": _REF,
    "notify.idle": _REF,
    "notify.undelivered": {"reference", "why"},
    "notify.failed": {"reference", "why"},
    "notify.too_long_for_sms": {"reference", "why", "length", "limit"},
}

DEFAULT_TEMPLATES = Templates(DEFAULT_TEXTS, variables=DEFAULT_VARIABLES)
