"""xAPI statements from learning tools (issue 26; docs/xapi.md): the part of the xAPI
Statements resource a Learning Record Provider sends to, mapped onto this service's
events and published like every other event."""
