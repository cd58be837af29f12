"""Staff administration (issue 15): list, create, deactivate, rotate a token, change a
role; names unique; every change audited; a deactivated user's sessions end at once."""
