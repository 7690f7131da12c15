// A shared library without amct_register_algorithms.
extern "C" int not_a_plugin() { return 0; }
