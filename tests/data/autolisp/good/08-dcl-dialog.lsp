;; Ask for a radius with a dialog written to a temporary DCL file.
(defun c:RADDLG (/ dcl f id result radius)
  (setq dcl (vl-filename-mktemp "rad" nil ".dcl"))
  (setq f (open dcl "w"))
  (foreach line '("raddlg : dialog { label = \"Radius\";"
                  "  : edit_box { key = \"r\"; label = \"Radius:\"; value = \"10\"; }"
                  "  ok_cancel;"
                  "}")
    (write-line line f)
  )
  (close f)
  (setq id (load_dialog dcl))
  (if (new_dialog "raddlg" id)
    (progn
      (action_tile "accept" "(setq radius (atof (get_tile \"r\"))) (done_dialog 1)")
      (action_tile "cancel" "(done_dialog 0)")
      (setq result (start_dialog))
      (unload_dialog id)
      (if (and (= result 1) (> radius 0))
        (command "_.CIRCLE" pause radius)
      )
    )
    (unload_dialog id)
  )
  (vl-file-delete dcl)
  (princ)
)
