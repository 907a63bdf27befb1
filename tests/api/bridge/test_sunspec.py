"""SunSpec model 124: the chain walk and the register values of a setpoint."""

from __future__ import annotations

import pytest

from api.bridge.sunspec import find_model, point_offsets, signed, storage_writes


def test_model_124_offsets_follow_the_model_definition() -> None:
    offsets = point_offsets(124)
    assert offsets["ID"][0] == 0 and offsets["L"][0] == 1
    assert offsets["WChaMax"] == (2, "uint16") and offsets["InOutWRte_SF"][1] == "sunssf"
    assert max(o for o, _ in offsets.values()) == 2 + 24 - 1  # the model is 24 long


def test_the_chain_walk_finds_the_model_and_refuses_what_is_not_sunspec() -> None:
    regs = {40000 + i: v for i, v in enumerate([0x5375, 0x6E53, 1, 3, 0, 0, 0, 124, 24]
                                                + [0] * 24 + [0xFFFF, 0])}

    def read(address: int, count: int) -> list[int]:
        return [regs.get(address + i, 0) for i in range(count)]

    assert find_model(read, 40000, 124) == 40007
    with pytest.raises(LookupError, match="no SunSpec model 103"):
        find_model(read, 40000, 103)
    with pytest.raises(LookupError, match="SunS"):
        find_model(read, 0, 124)


def test_storage_writes_as_percent_of_the_rating() -> None:
    # 100 kW rating, rates in 0.1 % (SF -1)
    charge = storage_writes(25.0, 0.0, 100_000, -1, 900)
    assert charge == {"StorCtl_Mod": 1, "InWRte": 250, "OutWRte": 0, "InOutWRte_RvrtTms": 900}
    discharge = storage_writes(0.0, 40.0, 100_000, -1, 60)
    assert (discharge["StorCtl_Mod"], discharge["OutWRte"], discharge["InWRte"]) == (2, 400, 0)
    assert storage_writes(0.0, 0.0, 100_000, -1, 0)["StorCtl_Mod"] == 3
    assert storage_writes(500.0, 0.0, 100_000, 0, 0)["InWRte"] == 100  # clamped at 100 %
    assert signed(0xFFFF) == -1 and signed(5) == 5
