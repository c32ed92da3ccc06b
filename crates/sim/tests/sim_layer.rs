use sim::{Model, ObjectKind, Sim, SimError, compiler_warnings};
use std::path::Path;

const SLIDER: &str = r#"
<mujoco>
  <option timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="cart" pos="0 0 0.1">
      <joint name="slide" type="slide" axis="1 0 0" range="-1 1"/>
      <geom name="cart" type="box" size="0.1 0.1 0.1" mass="1"/>
      <site name="tip" pos="0.1 0 0"/>
    </body>
    <body name="spinner" pos="1 0 0.5">
      <joint name="hinge" type="hinge" axis="0 0 1"/>
      <geom name="spinner" type="capsule" fromto="0 0 0 0.2 0 0" size="0.02" contype="0" conaffinity="0"/>
      <site name="spinner_tip" pos="0.2 0 0"/>
    </body>
    <body name="marker" mocap="true" pos="0 1 1"/>
  </worldbody>
  <actuator>
    <motor name="push" joint="slide" ctrlrange="-1 1" gear="10"/>
  </actuator>
  <sensor>
    <jointpos name="slide_pos" joint="slide"/>
  </sensor>
</mujoco>
"#;

fn slider() -> Model {
    Model::from_xml_str(SLIDER, "slider.xml").unwrap()
}

#[test]
fn named_lookups_find_every_kind() {
    let model = slider();
    assert!(model.body("cart").is_ok());
    assert!(model.site("tip").is_ok());
    assert!(model.joint("slide").is_ok());
    assert!(model.geom("floor").is_ok());
    assert_eq!(model.actuator("push").unwrap(), 0);
    assert_eq!(model.sensor("slide_pos").unwrap(), 0);
}

#[test]
fn unknown_name_error_lists_the_real_names() {
    let err = slider().site("tpi").unwrap_err();
    let message = err.to_string();
    assert!(matches!(
        err,
        SimError::UnknownName {
            kind: ObjectKind::Site,
            ..
        }
    ));
    assert!(message.contains("slider.xml"), "{message}");
    assert!(message.contains("no site named 'tpi'"), "{message}");
    assert!(message.contains("tip, spinner_tip"), "{message}");
}

#[test]
fn bad_xml_reports_mujocos_message_and_the_file_name() {
    let dir = std::env::temp_dir().join(format!("sim-bad-xml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.xml");
    std::fs::write(
        &path,
        "<mujoco><worldbody><geom type=\"sphere\"/></worldbody>",
    )
    .unwrap();
    let message = Model::from_file(&path).unwrap_err().to_string();
    assert!(message.contains("broken.xml"), "{message}");
    assert!(message.to_lowercase().contains("xml"), "{message}");
    let missing = Model::from_file(&dir.join("missing.xml"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("missing.xml") && missing.contains("no such file"),
        "{missing}"
    );
}

#[test]
fn a_model_path_that_is_not_a_regular_file_is_refused_before_mujoco_opens_it() {
    let dir = std::env::temp_dir().join(format!("sim-not-a-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe.xml");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let huge = dir.join("huge.xml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    for (path, needle) in [
        (fifo.as_path(), "is a FIFO"),
        (std::path::Path::new("/dev/zero"), "is a character device"),
        (dir.as_path(), "is a directory"),
        (
            huge.as_path(),
            "is 5 GiB; an MJCF model may be at most 64 MiB",
        ),
    ] {
        let message = Model::from_file(path).unwrap_err().to_string();
        assert!(message.contains(needle), "{message}");
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        let message = compiler_warnings(path).unwrap_err().to_string();
        assert!(message.contains(needle), "{message}");
    }
    // MuJoCo's own two-line messages (problem, then element and line) come as one line.
    let broken = dir.join("reversed.xml");
    std::fs::write(
        &broken,
        "<mujoco><worldbody><body><joint name='j'/><geom size='0.1'/></body></worldbody>\
         <actuator><motor joint='j' ctrlrange='2 1' ctrllimited='true'/></actuator></mujoco>",
    )
    .unwrap();
    let message = Model::from_file(&broken).unwrap_err().to_string();
    assert!(
        !message.contains('\n') && message.contains("; Element"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn motor_moves_the_cart_and_site_velocity_follows() {
    let model = slider();
    let mut sim = Sim::new(&model);
    let tip = model.site("tip").unwrap();
    let start = sim.site_pos(tip);
    sim.ctrl_mut()[0] = 1.0;
    sim.step(100);
    let end = sim.site_pos(tip);
    assert!(end[0] > start[0] + 0.01, "{start:?} -> {end:?}");
    let v = sim.site_velocity(tip);
    assert!(v.linear[0] > 0.1 && v.linear[1].abs() < 1e-9, "{v:?}");
    assert!((sim.time() - 0.2).abs() < 1e-9);
}

#[test]
fn angular_velocity_and_site_frame_of_a_spinning_body() {
    let model = slider();
    let mut sim = Sim::new(&model);
    let hinge = model.joint("hinge").unwrap();
    let dof = model.joint_dof_address(hinge);
    sim.qvel_mut()[dof] = 2.0;
    sim.forward();
    let body = model.body("spinner").unwrap();
    let v = sim.body_velocity(body);
    assert!((v.angular[2] - 2.0).abs() < 1e-9, "{v:?}");
    let tip = sim.site_velocity(model.site("spinner_tip").unwrap());
    assert!(
        (tip.linear[1] - 0.4).abs() < 1e-9,
        "tip moves at r*omega: {tip:?}"
    );
    let frame = sim.site_frame(model.site("spinner_tip").unwrap());
    assert!((frame[0] - 1.0).abs() < 1e-9 && (frame[8] - 1.0).abs() < 1e-9);
}

#[test]
fn contacts_between_named_geoms_and_bodies() {
    let model = slider();
    let mut sim = Sim::new(&model);
    let (floor, cart) = (model.geom("floor").unwrap(), model.geom("cart").unwrap());
    sim.forward();
    assert!(sim.geoms_touch(floor, cart), "the cart rests on the floor");
    assert!(sim.bodies_touch(0, model.body("cart").unwrap()));
    let spinner = model.geom("spinner").unwrap();
    assert!(!sim.geoms_touch(floor, spinner));
    let slide = model.joint_qpos_address(model.joint("slide").unwrap());
    sim.qpos_mut()[slide] = 0.5;
    sim.qpos_mut()[model.joint_qpos_address(model.joint("hinge").unwrap())] = 0.0;
    // Lift the cart off the floor by moving the floor contact out of reach: slide along x
    // keeps it on the floor, so it still touches.
    sim.forward();
    assert!(sim.geoms_touch(cart, floor));
}

#[test]
fn mocap_pose_is_set_and_read_back() {
    let model = slider();
    let mut sim = Sim::new(&model);
    let marker = model.body("marker").unwrap();
    assert!(model.mocap_index(marker).is_some());
    assert!(model.mocap_index(model.body("cart").unwrap()).is_none());
    sim.set_mocap_pose(marker, [0.5, -0.5, 2.0], [0.0, 0.0, 0.0, 1.0]);
    sim.forward();
    assert_eq!(sim.body_pos(marker), [0.5, -0.5, 2.0]);
    assert_eq!(sim.mocap_pose(marker).1, [0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn ctrl_ranges_report_limits() {
    let model = slider();
    assert_eq!(model.ctrl_ranges(), vec![[-1.0, 1.0]]);
    assert_eq!(
        model.joint_range(model.joint("slide").unwrap()),
        [-1.0, 1.0]
    );
}

#[test]
fn project_panda_assets_compile_without_warnings() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/franka");
    for scene in ["panda.xml", "reach.xml", "push.xml"] {
        let warnings = compiler_warnings(&assets.join(scene)).unwrap();
        assert_eq!(warnings, None, "{scene}");
    }
}

#[test]
fn compiler_warnings_fails_on_a_model_that_does_not_compile() {
    let dir = std::env::temp_dir().join(format!("sim-warn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("warn.xml");
    // A moving body without mass does not compile.
    std::fs::write(
        &path,
        r#"<mujoco><worldbody><body><freejoint/><geom size="0.1" mass="0"/></body></worldbody></mujoco>"#,
    )
    .unwrap();
    let message = compiler_warnings(&path).unwrap_err().to_string();
    assert!(
        message.contains("warn.xml") && message.contains("mass"),
        "{message}"
    );
}
