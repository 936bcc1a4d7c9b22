"""Deploy rehearsal on an AWS emulator (moto): see tools/rehearse.py and README "Deploy rehearsal"."""
