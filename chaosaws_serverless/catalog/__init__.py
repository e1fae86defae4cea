"""The experiment catalog: reusable pieces and their composition into experiments.

``compose`` holds the engine, ``control`` the Chaos Toolkit loader control that
expands references when ``chaos run`` loads a short experiment, ``cli`` the
``chaosaws-serverless compose`` and ``catalog`` commands. Kept free of imports:
discovery imports every subpackage's ``__init__``.
"""
