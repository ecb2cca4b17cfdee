(vl-load-com)
(defun c:LAYCOLORS (/ layers)
  (setq layers (vla-get-Layers (vla-get-ActiveDocument (vlax-get-acad-object))))
  (vlax-for lay layers
    (princ (strcat "\n" (vla-get-Name lay) " color " (itoa (vla-get-Color lay))))
  )
  (princ)
)
