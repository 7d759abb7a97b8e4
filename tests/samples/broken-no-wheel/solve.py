"""Solve a tiny linear programme (ortools 9.6 has wheels up to Python 3.11)."""

from ortools.linear_solver import pywraplp

solver = pywraplp.Solver.CreateSolver("GLOP")
x = solver.NumVar(0, 10, "x")
solver.Maximize(x)
print(solver.Solve(), x.solution_value())
