{
  "targets": [
    {
      "target_name": "tun",
      "sources": ["src/tun.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11"],
      "configurations": {
        "Release": {
          # Node's common.gypi asks for -O3; this addon only wants -O2.
          "cflags!": ["-O3"],
          "cflags": ["-O2", "-Wall"]
        }
      }
    }
  ]
}
