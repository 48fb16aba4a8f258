"""15-minute health circle planner (一刻钟健康医疗圈规划工具)."""

__version__ = "0.1.0"
