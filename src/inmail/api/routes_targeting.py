"""Targeting (API.md "Additions"): who is likely to answer, ranked, with the reasons."""

from __future__ import annotations

from fastapi import APIRouter

from inmail.api.deps import CurrentMember, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import decode_keys, encode_keys
from inmail.api.render import member
from inmail.api.schemas import MemberViewOut, Page
from inmail.api.targeting_schemas import TargetingIn, TargetOut
from inmail.domain.errors import ValidationError
from inmail.domain.targeting import RankKey
from inmail.services.targeting import Target, rank_candidates

router = APIRouter(prefix="/v1", tags=["targeting"], responses=problem_responses(401, 403, 422))


@router.post("/me/targeting")
def targeting(
    body: TargetingIn, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> Page[TargetOut]:
    """Candidates ranked by how likely they are to answer you, best first (docs/targeting.md).

    Nothing is written: no Idempotency-Key. A candidate who declined your InMail
    comes last; unknown ids, your own id, or both ``candidates`` and ``q`` are 422.
    """
    ranked = rank_candidates(
        deps,
        member_id=member_id,
        now=now,
        candidates=body.candidates,
        q=body.q,
        after=_decode(body.cursor),
        limit=body.limit,
    )
    after = None if ranked.next_key is None else _encode(ranked.next_key)
    return Page(items=[_target(t) for t in ranked.items], next_cursor=after)


def _target(target: Target) -> TargetOut:
    ranked = target.ranked
    return TargetOut(
        member=MemberViewOut(**member(target.member).model_dump(), degree=ranked.degree),
        score=ranked.score,
        reasons=list(ranked.reasons),
        channel=ranked.channel.value,
        cost_credits=ranked.cost_credits,
        reachable=ranked.reachable,
        answers=ranked.answers.value,
    )


def _encode(key: RankKey) -> str:
    return encode_keys(str(key.tier), str(key.minus_score), str(key.minus_mutuals), key.member_id)


def _decode(cursor: str | None) -> RankKey | None:
    keys = decode_keys(cursor, 4)
    if keys is None:
        return None
    tier, minus_score, minus_mutuals, member_id = keys
    try:
        return RankKey(int(tier), int(minus_score), int(minus_mutuals), member_id)
    except ValueError:
        raise ValidationError("cursor is not one this server handed out", field="cursor") from None
