"""What runs a container: the local process runtime, and the image catalogue with its built-in sample programs."""
