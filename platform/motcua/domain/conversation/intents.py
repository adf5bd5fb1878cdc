"""What a citizen's message asks for. Pure functions: folded text in, one ``Intent`` out.

Order matters: a dossier code anywhere wins (people paste "tra cứu 000.00.07.H12-…"); then
explicit commands (stop notifications, talk to an officer, my dossiers); then chat utilities the
tenant switched on; then procedure questions; greetings bring the menu. Everything else is
``unknown`` and goes to a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from motcua.domain.conversation.text import any_phrase, contains_phrase, fold
from motcua.onestop.codes import find_code

STOP = ("dung thong bao", "huy thong bao", "tat thong bao", "khong nhan thong bao", "ngung thong bao",
        "dung nhan tin", "huy dang ky")
HUMAN = ("gap can bo", "noi chuyen voi can bo", "gap nhan vien", "gap tu van vien", "tu van vien",
         "gap nguoi", "can bo tu van", "lien he can bo", "hoi can bo", "chuyen can bo")
MINE = ("ho so cua toi", "ho so cua minh", "ho so cua em", "ho so cua tui", "ho so toi", "cac ho so cua toi",
        "ho so da nop", "toi da nop")
LOOKUP = ("tra cuu", "tra ho so", "kiem tra ho so", "xem ho so", "tinh trang ho so", "ho so den dau",
          "ma ho so", "tra cuu ho so")
PROCEDURE_HINTS = ("can giay to gi", "can nhung giay to gi", "giay to gi", "can gi", "thu tuc", "ho so gom",
                   "le phi", "mat bao lau", "bao nhieu tien", "lam the nao", "lam sao", "huong dan",
                   "o dau", "nop o dau", "can mang gi", "giay to can")
GREETING = ("xin chao", "chao ban", "chao", "hello", "hi", "menu", "bat dau", "tro giup", "giup toi", "alo")
THANKS = ("cam on", "thank", "cam ong")
NEWS = ("tin tuc", "thong bao moi", "tin moi")
# Words that carry no subject when searching procedures ("khai sinh cần giấy tờ gì" -> "khai sinh").
FILLER = set("""can giay to gi nhung thu tuc ho so gom le phi mat bao lau nhieu tien lam the nao sao huong dan
o dau nop mang cho toi minh em hoi xin va cua la de duoc co khong a a ah a nhe voi thi ve muon dang ky""".split())


@dataclass(frozen=True)
class Intent:
    kind: str  # code, lookup_prompt, mine, stop, human, utility, procedure, menu, thanks, news, unknown
    arg: str = ""  # the code key, the utility name, or the procedure query
    text: str = ""  # the folded text


def subject_words(folded: str) -> str:
    return " ".join(w for w in folded.split() if w not in FILLER)


def understand(text: str, utilities: Iterable[tuple[str, tuple[str, ...]]] = ()) -> Intent:
    """``utilities`` are (name, folded keywords) of the tenant's switched-on chat utilities."""
    code = find_code(text)
    folded = fold(text)
    if code:
        return Intent("code", code, folded)
    if not folded:
        return Intent("menu", "", folded)
    if any_phrase(folded, STOP):
        return Intent("stop", "", folded)
    if any_phrase(folded, HUMAN):
        return Intent("human", "", folded)
    if any_phrase(folded, MINE):
        return Intent("mine", "", folded)
    for name, keywords in utilities:
        if any(contains_phrase(folded, k) for k in keywords):
            return Intent("utility", name, folded)
    if any_phrase(folded, LOOKUP):
        return Intent("lookup_prompt", "", folded)
    if any_phrase(folded, PROCEDURE_HINTS):
        subject = subject_words(folded)
        return Intent("procedure", subject, folded) if subject else Intent("menu", "", folded)
    if any_phrase(folded, NEWS):
        return Intent("news", "", folded)
    words = folded.split()
    if len(words) <= 3 and any_phrase(folded, GREETING):
        return Intent("menu", "", folded)
    if len(words) <= 4 and any_phrase(folded, THANKS):
        return Intent("thanks", "", folded)
    return Intent("unknown", "", folded)
