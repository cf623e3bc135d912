-- mixgate: XEP-0356 privileged presence (optional, recommended). Prosody
-- then shows mixgate the presence of its users, so channels know where
-- participants are online. It shows mixgate every local user's presence.
-- mod_privilege comes with Debian's prosody-modules package.
--
-- part: host
-- In your VirtualHost "example.org" section (merge with an existing
-- modules_enabled there):
modules_enabled = { "privilege" }
privileged_entities = { ["mix.example.org"] = { presence = "managed_entity" } }
-- part: component
-- In the Component "mix.example.org" section:
modules_enabled = { "privilege" }
