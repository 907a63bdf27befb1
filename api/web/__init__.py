"""Pages for people: the sites, a site's day, the plan in plain words, and two plans
compared; server-rendered with Jinja2, in the languages of ``locale/`` (see docs/pages.md)."""
