"""The demo provinces end to end: each tenant file's sandbox runs, and the adapter the runtime
builds from the applied tenant (settings, status table, secrets decrypted from the database)
reads it over real HTTP."""

from __future__ import annotations

from motcua.onestop.codes import normalize_code
from motcua.onestop.records import Status
from motcua.onestop.sandbox_world import SandboxControl


async def test_every_demo_province_reads_its_own_sandbox_through_the_runtime(runtime, tenants):
    assert set(tenants.sandbox_urls) == {"ca-mau", "an-giang", "dong-nai"}
    for slug, url in tenants.sandbox_urls.items():
        control = SandboxControl(url)
        try:
            created = await control.create(status="supplement_required")
            adapter = await runtime.adapter(slug)
            assert adapter.family == tenants[slug].file.adapter.family
            found = await adapter.lookup(created["code"])
            assert found is not None, slug
            assert normalize_code(found.code) == normalize_code(created["code"])
            assert found.status is Status.supplement_required and found.missing_papers, slug
            # Codes carry this province's agencies, in the national format.
            assert created["code"].split("-")[0].endswith(tenants[slug].file.agency_code)
        finally:
            await control.aclose()
