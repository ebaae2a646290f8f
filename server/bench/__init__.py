"""``emtihan bench``: the exam-start storm played against real server processes.

``runner.run_bench`` runs it end to end; ``seed`` fills a fresh database, ``servers`` starts and
kills the processes, ``storm`` plays the examinees, proctors and consoles, ``console`` is the
proctor console's websocket client, ``baseline`` the bare INSERT + COMMIT app to compare with,
``report`` the percentiles and the table. What it measures and how: docs/BENCHMARKS.md.
"""
