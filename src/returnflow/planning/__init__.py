"""Return-center network planning: capacitated facility location solved with HiGHS.

A pure library: no database, no web. ``plan_network(problem)`` is the entry point; ``read_orlib`` loads
Beasley's OR-Library benchmark instances; ``geography`` builds problems from real places.
"""

from returnflow.planning.orlib import read_orlib
from returnflow.planning.problem import FacilityProblem, NetworkPlan, PlanningError
from returnflow.planning.solve import plan_network

__all__ = ["FacilityProblem", "NetworkPlan", "PlanningError", "plan_network", "read_orlib"]
