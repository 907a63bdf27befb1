"""Planning: a Pyomo model of the village solved by HiGHS.

``optimizer.planner`` makes plans (``make_plan``, ``Planner``), ``optimizer.plan`` holds them
(``Plan``), ``optimizer.state`` the state a plan starts from and ``optimizer.errors`` the
errors. ``import optimizer`` itself loads nothing.
"""
