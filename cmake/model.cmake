# model component: the loaders (course .bin, original safetensors checkpoint),
# the Tensor accessors, the synthetic checkpoint generator and their tests.
target_sources(getp_core PRIVATE src/model.c src/model_bin.c src/model_st.c)

# getp-model-gen: deterministic synthetic gpt-oss checkpoints (tiny / 20b / 120b shapes).
add_executable(getp-model-gen tools/model_gen.c)
target_link_libraries(getp-model-gen PRIVATE getp_core)
install(TARGETS getp-model-gen RUNTIME DESTINATION bin)

if(GETP_BUILD_TESTS)
  foreach(name tensor agree corrupt_bin corrupt_st)
    add_executable(test_model_${name} tests/model/test_model_${name}.c)
    target_link_libraries(test_model_${name} PRIVATE getp_core)
    add_test(NAME model_${name} COMMAND test_model_${name} $<TARGET_FILE:getp-model-gen>)
  endforeach()
endif()
