"""The named events of the demo domain: ``api:<context>:<action>``."""

from realtime.events import EventRegistry

events = EventRegistry("api")

FOO_CREATED = events.define("foo:created", action_type="CREATE_FOO")
FOO_CHANGED = events.define("foo:changed", action_type="UPDATE_FOO")
FOO_DELETED = events.define("foo:deleted", action_type="DELETE_FOO")
#: A Foo was shared with you (an inbox notification).
FOO_SHARED = events.define("foo:shared", action_type="CREATE_NOTIFICATION")
