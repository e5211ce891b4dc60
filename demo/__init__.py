"""The synthetic demo organisation (DESIGN §6): the top layer, which may import every other app and
which no other app imports. ``data`` names its shapes, ``plan`` draws it without a database,
``writer`` stores a plan, ``seed_demo`` is the command."""
