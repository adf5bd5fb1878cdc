"""Benchmarks 3 and 8: dossier lookup inside a tenant transaction, and procedure search.

    uv run python -m tests.bench.lookup [--seconds 8] [--concurrency 16]

3. ``get_dossier`` (normalised code, aliases) inside ``Database.tenant()`` (a pooled connection,
   BEGIN, the tenant bound with set_config, the query under row-level security, COMMIT) against
   a raw asyncpg ``fetchrow`` of the same row by primary key columns on an owner pool.
   Target: ≥ 0.4 of the raw rate.
8. ``procedures.search`` (accent-folded trigram search) over 2,000 procedures: p50 and p99 of
   single searches, typed with and without diacritics and with typos.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

import asyncpg

from tests.bench.harness import environment, report

SLUG = "ca-mau"
DOSSIERS = 50_000
PROCEDURES = 2_000

SUBJECTS = ["khai sinh", "kết hôn", "khai tử", "căn cước", "hộ chiếu", "đăng ký thường trú", "tạm trú",
            "giấy phép xây dựng", "đất đai", "quyền sử dụng đất", "hộ kinh doanh", "doanh nghiệp", "lý lịch tư pháp",
            "chứng thực bản sao", "nuôi con nuôi", "giám hộ", "thay đổi hộ tịch", "trợ cấp xã hội", "bảo trợ",
            "người có công", "giấy phép lái xe", "đăng ký xe", "môi trường", "khai thác khoáng sản", "thủy sản",
            "tàu cá", "giấy phép kinh doanh rượu", "an toàn thực phẩm", "hành nghề y", "dược", "giáo dục",
            "văn bằng", "xuất nhập cảnh", "đầu tư", "thuế", "lao động nước ngoài", "bảo hiểm", "mai táng phí"]
VERBS = ["Cấp", "Cấp lại", "Đăng ký", "Điều chỉnh", "Gia hạn", "Xác nhận", "Thủ tục", "Cấp đổi", "Thu hồi",
         "Công nhận", "Giải quyết", "Hỗ trợ"]
QUERIES = ["khai sinh", "khai sinh can giay to gi", "dang ky ket hon", "ket hn", "can cuoc", "ho chieu",
           "giấy phép xây dựng", "giay phep xay dung", "dat dai", "ho kinh doanh", "ly lich tu phap",
           "chung thuc ban sao", "tro cap xa hoi", "giay phep lai xe", "thuy san tau ca", "an toan thuc pham",
           "cap lai van bang", "mai tang phi", "khaisinh", "kết hôn cần gì"]


async def seed(owner: asyncpg.Connection) -> list[str]:
    from motcua.onestop.codes import normalize_code

    rnd = random.Random(7)
    codes = [f"000.00.07.H12-2511{rnd.randint(10, 28)}-{i:06d}" for i in range(DOSSIERS)]
    await owner.copy_records_to_table(
        "dossier", columns=["tenant_id", "code", "code_key", "status", "raw_status", "procedure_name"],
        records=[(SLUG, c, normalize_code(c), "processing", "4", "Đăng ký khai sinh") for c in codes])
    procs = []
    for i in range(PROCEDURES):
        name = f"{rnd.choice(VERBS)} {rnd.choice(SUBJECTS)} {rnd.choice(['', 'cho người nước ngoài', 'có yếu tố nước ngoài', 'lần đầu', 'cấp xã', 'cấp tỉnh'])}".strip()
        procs.append((SLUG, f"1.{i:06d}", name, rnd.choice(["Hộ tịch", "Tư pháp", "Xây dựng", "Đất đai", "Y tế"])))
    await owner.copy_records_to_table("procedure", columns=["tenant_id", "code", "name", "sector", "search_key"],
                                      records=[(*p, "") for p in procs])
    await owner.execute("UPDATE procedure SET search_key = motcua_fold(name || ' ' || coalesce(sector, '')) "
                        "WHERE tenant_id = $1", SLUG)
    await owner.execute("ANALYZE dossier; ANALYZE procedure")
    return codes


async def rate(fn, codes: list[str], seconds: float, concurrency: int) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        nonlocal done
        rnd = random.Random(i)
        while time.perf_counter() < stop:
            assert await fn(rnd.choice(codes)) is not None
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    return done / (time.perf_counter() - started)


async def main(seconds: float, concurrency: int) -> None:
    async with environment() as env:
        from motcua.db.database import connect
        from motcua.domain.dossiers.store import get_dossier
        from motcua.domain.procedures.service import search
        from motcua.onestop.codes import normalize_code

        owner = await connect(env.database.owner_url)
        codes = await seed(owner)
        await owner.close()
        db = env.runtime.db
        raw_pool = await asyncpg.create_pool(env.database.owner_url.replace("postgresql+asyncpg", "postgresql"),
                                             min_size=db.pool.get_max_size(), max_size=db.pool.get_max_size())

        async def ours(code: str):
            async with db.tenant(SLUG) as conn:
                return await get_dossier(conn, code)

        async def raw(code: str):
            return await raw_pool.fetchrow("SELECT * FROM dossier WHERE tenant_id = $1 AND code_key = $2",
                                           SLUG, normalize_code(code))

        await rate(ours, codes, 1, concurrency)
        await rate(raw, codes, 1, concurrency)
        raw_rps = await rate(raw, codes, seconds, concurrency)
        ours_rps = await rate(ours, codes, seconds, concurrency)
        await raw_pool.close()
        report("dossier lookup in a tenant transaction vs raw fetch", dossiers=DOSSIERS, concurrency=concurrency,
               raw_rps=round(raw_rps), lookup_rps=round(ours_rps), ratio=round(ours_rps / raw_rps, 2), target=0.4)

        latencies: list[float] = []
        found = 0
        for q in QUERIES * 3:
            async with db.tenant(SLUG) as conn:
                await search(conn, SLUG, q)  # warm
        for _ in range(25):
            for q in QUERIES:
                started = time.perf_counter()
                async with db.tenant(SLUG) as conn:
                    hits = await search(conn, SLUG, q)
                latencies.append(time.perf_counter() - started)
                found += bool(hits)
        latencies.sort()
        report("procedure search over 2,000 procedures", procedures=PROCEDURES, searches=len(latencies),
               with_results=found, p50_ms=round(statistics.median(latencies) * 1000, 2),
               p99_ms=round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2),
               max_ms=round(latencies[-1] * 1000, 2))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    asyncio.run(main(a.seconds, a.concurrency))
