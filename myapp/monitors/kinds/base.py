"""What every check kind is: the interface the schema, the scheduler, the pages and the manifest use."""

from pydantic import BaseModel


class CheckKind:
    """One kind of check.  A subclass names itself, brings its settings as a pydantic model (its fields
    and their checks, which become part of every monitor's fields: schema.MonitorFields), and runs one
    check."""

    name = ""  # stored in monitors.kind
    title = ""  # for people: "HTTP(S)"
    settings: type[BaseModel] = BaseModel

    @property
    def fields(self):
        """The names of this kind's own fields (of the monitor's)."""
        return tuple(self.settings.model_fields)

    def target(self, row):
        """What a check needs of a monitor (a row or object with the monitor's fields as attributes)."""
        raise NotImplementedError

    async def check(self, state, target):
        """One check of ``target`` on the loop whose state this is: a state.Result, with the reason in words
        when it fails.  Never raises for the target's sake (a cancelled check is cancelled)."""
        raise NotImplementedError

    def describe(self):
        """The kind for forms and clients: its name, title, and its fields with their descriptions."""
        return {
            "name": self.name,
            "title": self.title,
            "fields": {name: field.description or "" for name, field in self.settings.model_fields.items()},
        }
