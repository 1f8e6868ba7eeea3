"""Lead commands (`/cases …`): dispatch.py reads the line and checks the lead, show.py answers
the commands that read (list, show, summary, export) and changes.py those that change a case."""

from handlers.leads.dispatch import handle as handle
