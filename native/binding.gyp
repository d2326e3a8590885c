# Builds native/build/Release/tapstack_tap.node from tap.c against Node's own headers
# (node-gyp with nodedir=/usr: nothing is downloaded). Linux only: TAP devices via /dev/net/tun.
{
  "targets": [
    {
      "target_name": "tapstack_tap",
      "sources": ["tap.c", "tap-writer.c"],
      # Node-API 8 (Node >= 12.22/14.17): the oldest level with async cleanup hooks.
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wunused-parameter"],
      # common.gypi turns unused-parameter warnings off; we want every warning.
      "cflags!": ["-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
