"""todo-api: a multi-user task API whose endpoints are generated from declarations."""
