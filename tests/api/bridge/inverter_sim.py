"""A Modbus TCP server that simulates a village's battery inverter and genset controller,
run as its own process by the bridge tests: ``python inverter_sim.py PORT``.

Unit 1 holds a SunSpec chain at 40000 ("SunS", model 1, model 124, end) and, for the
genset, a power setpoint at 100 (0.1 kW per count) and a measured power at 200 (0.1 kW).
"""

from __future__ import annotations

import sys

from pymodbus.server import StartTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

BASE = 40000
#: model 124 points after its id and length (pysunspec2 order): a 100 kW inverter
#: (WChaMax 10000 × 10^1 W), 55.0 % charged (550 × 10^-1), rates in 0.1 % (SF -1)
MODEL_124 = [10000, 0, 0, 0, 0, 0, 550, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             1, 0, 0, 0, 0xFFFF, 0, 0, 0xFFFF]
GENSET_MEASURED = 123  # 12.3 kW


def layout() -> dict[int, list[int]]:
    chain = [0x5375, 0x6E53, 1, 66] + [0] * 66 + [124, 24] + MODEL_124 + [0xFFFF, 0]
    return {BASE: chain, 200: [GENSET_MEASURED]}


REGISTERS = 45000


def main(port: int) -> None:
    values = [0] * REGISTERS
    for address, block in layout().items():
        values[address:address + len(block)] = block
    registers = SimData(0, values=values, datatype=DataType.REGISTERS)
    StartTcpServer(context=SimDevice(id=1, simdata=[registers]), address=("127.0.0.1", port))


if __name__ == "__main__":
    main(int(sys.argv[1]))
