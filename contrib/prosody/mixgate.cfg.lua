-- mixgate: MIX channels for Prosody, as an external component (XEP-0114).
--
-- Paste part 1 into the global section of prosody.cfg.lua (above the first
-- VirtualHost line): options below a VirtualHost or Component line belong to
-- that host, and Prosody ignores listener options there.
--
-- Part 1: the port mixgate connects to. Keep it on loopback unless mixgate
-- runs on another machine; the component protocol has no encryption.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

-- Part 2: paste at the end of the file. Use the same domain and secret as
-- [component] jid and secret in mixgate's config. Make the secret long and
-- random, e.g. the output of `openssl rand -hex 32`.
Component "mix.example.org"
    component_secret = "change-me-to-a-long-random-secret"
