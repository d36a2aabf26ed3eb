"""Offline evaluation of the Pulumi program: no CLI, no cloud, the real program under mocks."""
