"""Remote consoles: the console servers drivers report, the tokens that
open them (:mod:`nova.console.auth_tokens`) and the proxy browsers reach
them through (:mod:`nova.console.websocketproxy`, nova-novncproxy)."""
