"""Device drivers (buttons, LEDs, buzzer, embosser, printer) and their emulators."""
