"""The Zalo simulator: a fake of Zalo's OA API, OAuth v4, ZNS and graph API, and a phone page.
Demo and tests only; never served by ``motcua serve`` unless enabled."""
