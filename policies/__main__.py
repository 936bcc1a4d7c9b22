import sys

if "--record-inputs" in sys.argv:
    # Record from the start: what policies.cli's imports read is an input of the gate too.
    from policies.depfile import process_recorder

    process_recorder()

from policies.cli import main

sys.exit(main())
