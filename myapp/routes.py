"""Every route of the application, in one list: pages, then the JSON API (route names by area)."""

from pyramid.security import NO_PERMISSION_REQUIRED

from .accounts.security import Account, ApiKeyResource, Users
from .alerts import ChannelResource
from .checks.pings import EVENT, TOKEN
from .maintenance import WindowResource
from .monitors import MonitorResource
from .status_pages import AnnouncementResource, StatusPageResource
from .validation import ID_PATTERN

KEY, MONITOR, PAGE, CHANNEL, WINDOW, ANNOUNCEMENT = (
    f"{{{name}:{ID_PATTERN}}}"
    for name in ("key_id", "monitor_id", "page_id", "channel_id", "window_id", "announcement_id")
)


def includeme(config):
    config.add_static_view(
        "static/swagger-ui", "swagger_ui:static", cache_max_age=86400, permission=NO_PERMISSION_REQUIRED
    )  # the API explorer's files, from swagger-ui-py
    config.add_static_view("static", "myapp:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED)
    config.add_route("home", "/")

    # browser pages
    config.add_route("signup", "/signup")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("account", "/account", factory=Account)
    config.add_route("account.keys", "/account/keys", factory=Account)
    config.add_route("account.sessions.end", "/account/sessions/end", factory=Account)
    config.add_route("account.key.revoke", f"/account/keys/{KEY}/revoke", factory=ApiKeyResource)
    config.add_route("monitors", "/monitors", factory=Account)
    config.add_route("monitors.new", "/monitors/new", factory=Account)
    config.add_route("monitors.bulk", "/monitors/bulk", factory=Account)
    config.add_route("incidents", "/incidents", factory=Account)
    config.add_route("monitor", f"/monitors/{MONITOR}", factory=MonitorResource)
    config.add_route("monitor.edit", f"/monitors/{MONITOR}/edit", factory=MonitorResource)
    config.add_route("monitor.check", f"/monitors/{MONITOR}/check", factory=MonitorResource)
    config.add_route("monitor.pause", f"/monitors/{MONITOR}/pause", factory=MonitorResource)
    config.add_route("monitor.delete", f"/monitors/{MONITOR}/delete", factory=MonitorResource)
    config.add_route("status_pages", "/status-pages", factory=Account)
    config.add_route("status_page.edit", f"/status-pages/{PAGE}/edit", factory=StatusPageResource)
    config.add_route("status_page.delete", f"/status-pages/{PAGE}/delete", factory=StatusPageResource)
    config.add_route("status_page.announce", f"/status-pages/{PAGE}/announcements", factory=StatusPageResource)
    config.add_route("announcement.update", f"/announcements/{ANNOUNCEMENT}/updates", factory=AnnouncementResource)
    config.add_route("announcement.delete", f"/announcements/{ANNOUNCEMENT}/delete", factory=AnnouncementResource)
    config.add_route("status", "/status/{slug}")
    config.add_route("badge", f"/badges/{MONITOR}/{{kind}}.svg")
    config.add_route("channels", "/channels", factory=Account)
    config.add_route("channel", f"/channels/{CHANNEL}", factory=ChannelResource)
    config.add_route("channel.edit", f"/channels/{CHANNEL}/edit", factory=ChannelResource)
    config.add_route("channel.test", f"/channels/{CHANNEL}/test", factory=ChannelResource)
    config.add_route("channel.confirm.send", f"/channels/{CHANNEL}/confirm", factory=ChannelResource)
    config.add_route("channel.confirm", "/channels/confirm/{token:[A-Za-z0-9_-]{20,100}}")
    config.add_route("channel.delete", f"/channels/{CHANNEL}/delete", factory=ChannelResource)
    config.add_route("maintenance", "/maintenance", factory=Account)
    config.add_route("maintenance.delete", f"/maintenance/{WINDOW}/delete", factory=WindowResource)

    # heartbeats' pings (checks/pings.py)
    config.add_route("ping", f"/ping/{{token:{TOKEN}}}")
    config.add_route("ping.event", f"/ping/{{token:{TOKEN}}}/{{event:{EVENT}}}")

    # operations
    config.add_route("api.health", "/api/health")
    config.add_route("metrics", "/metrics")

    # JSON API
    config.add_route("api.openapi", "/api/openapi.json")
    config.add_route("api.docs", "/api/docs")
    config.add_route("api.tokens", "/api/tokens", factory=Account)
    config.add_route("api.token", f"/api/tokens/{KEY}", factory=ApiKeyResource)
    config.add_route("api.users.me", "/api/users/me", factory=Account)
    config.add_route("api.users", "/api/users", factory=Users)
    config.add_route("api.monitors", "/api/monitors", factory=Account)
    config.add_route("api.monitor", f"/api/monitors/{MONITOR}", factory=MonitorResource)
    config.add_route("api.monitor.check", f"/api/monitors/{MONITOR}/check", factory=MonitorResource)
    config.add_route("api.monitor.results", f"/api/monitors/{MONITOR}/results", factory=MonitorResource)
    config.add_route("api.monitor.pings", f"/api/monitors/{MONITOR}/pings", factory=MonitorResource)
    config.add_route("api.monitor.refused", f"/api/monitors/{MONITOR}/refused", factory=MonitorResource)
    config.add_route("api.monitor.incidents", f"/api/monitors/{MONITOR}/incidents", factory=MonitorResource)
    config.add_route("api.incidents", "/api/incidents", factory=Account)
    config.add_route("api.checks", "/api/checks", factory=Account)
    config.add_route("api.channels", "/api/channels", factory=Account)
    config.add_route("api.channel_kinds", "/api/channel-kinds")
    config.add_route("api.channel", f"/api/channels/{CHANNEL}", factory=ChannelResource)
    config.add_route("api.channel.test", f"/api/channels/{CHANNEL}/test", factory=ChannelResource)
    config.add_route("api.channel.confirm", f"/api/channels/{CHANNEL}/confirm", factory=ChannelResource)
    config.add_route("api.channel.deliveries", f"/api/channels/{CHANNEL}/deliveries", factory=ChannelResource)
    config.add_route("api.maintenance", "/api/maintenance", factory=Account)
    config.add_route("api.maintenance.window", f"/api/maintenance/{WINDOW}", factory=WindowResource)
    config.add_route("api.announcements", "/api/announcements", factory=Account)
    config.add_route("api.announcement", f"/api/announcements/{ANNOUNCEMENT}", factory=AnnouncementResource)
    config.add_route(
        "api.announcement.updates", f"/api/announcements/{ANNOUNCEMENT}/updates", factory=AnnouncementResource
    )
    config.add_route("api.export", "/api/export", factory=Account)
    config.add_route("api.apply", "/api/apply", factory=Account)
