"""Modbus TCP devices: generator controllers, power meters, gateways of cooling units.

Register maps are data (profiles/*.yaml, schema in profile.py); codec.py turns registers
into numbers and back; client.py is the seam over pymodbus that checks every answer;
poller.py maps one poll into samples and statuses; component.py puts the devices on the
poll schedule. docs/modbus.md is the guide.
"""
